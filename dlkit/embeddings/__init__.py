"""Word embeddings (``dlkit embed``): vectors learned from a corpus by skip-gram with negative
sampling or GloVe, written in the GloVe text format that ``model.embedding.vectors`` reads, and
their neighbours, analogies, evaluation and plot.

The maths is :mod:`dlkit.analysis.word_vectors` (NumPy); this package reads and writes the files
(:mod:`.files`), trains (:mod:`.train`, Keras) and ties both to MLflow (:mod:`.pipeline`).
"""
