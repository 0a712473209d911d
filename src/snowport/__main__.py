from snowport.cli import app

app()
