"""Names of error-analysis categories the reports treat specially, without the recipe's specs.

Kept apart from :mod:`dlkit.analysis.spec` (pydantic) so the reports that read a finished run
(``diagnose``, ``analyze-errors``) need not import pydantic to know them.
"""

INCORRECTLY_LABELLED = "incorrectly_labelled"
