"""`python -m deflect.cli` runs the deflect command line."""
from deflect.cli import main

main()
