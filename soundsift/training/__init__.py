"""Training: data recipes and mixture sampling (``data/``), losses, trainers and evaluation.

Nothing on the runtime path (separating a file) imports this package.
"""
