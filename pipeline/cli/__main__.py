"""``python -m pipeline.cli``: the ``rasid`` command without the console script."""

from pipeline.cli import main

main()
