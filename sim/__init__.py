"""monerosim: scenarios run as local processes or under Shadow, then summarised and reported."""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent   # the checkout agents import the project from
