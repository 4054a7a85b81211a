"""The lab around soundsift: corpus builders, CLAP pretraining, the paper-table bench and diagnostics.

Not part of the installed package: run it from a source checkout as ``python -m research``.
It uses soundsift's public modules; soundsift never imports it.
"""
