"""What training reads from corpora: manifests, levels, class words, and captioned mixtures.

Corpora are folders of 16 kHz mono clips plus a JSONL manifest (:mod:`.manifest`);
:mod:`.mixtures` turns them into captioned mixtures on the fly, with captions composed from
the class words of :mod:`.vocabulary`.  The corpus builders themselves are lab code:
``python -m research data ...`` in a source checkout.
"""
