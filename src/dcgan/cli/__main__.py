"""`python -m dcgan.cli`: the same as the `dcgan` console script."""

from dcgan.cli import main

main()
