"""Training a separator from a recipe, fine-tuning, evaluation, and what they read from corpora (``data/``).

Nothing on the runtime path (separating a file) imports this package. Building corpora,
pretraining the compact CLAP and the paper-table bench are lab code: ``python -m research``
in a source checkout.
"""
