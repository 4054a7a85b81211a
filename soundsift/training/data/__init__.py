"""Data recipes (``soundsift data ...``): reproducible offline corpora and mixture sampling.

Corpora are folders of 16 kHz mono clips plus a JSONL manifest (:mod:`.manifest`), built
by the music (:mod:`.music`), speech (:mod:`.speech`) and sound-effect (:mod:`.sfx`)
recipes; :mod:`.mixtures` turns them into captioned mixtures for training and test sets.
"""
