"""Contrastive pretraining of the compact CLAP (``python -m research clap``) and its zero-shot report.

The audio tower and the text projection of :class:`soundsift.model.encoders.compact_model.CompactClap`
are trained against the frozen MiniLM with the symmetric InfoNCE loss on labelled
single-source clips from the data recipes; the result is a weights folder that the
``compact`` query encoder loads.
"""
