from dlkit.cli import app

app()
