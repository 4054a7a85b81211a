"""Fine-tuning the separator on a user's own library, from captions alone (docs/finetuning.md).

Modules: ``library`` (find the files), ``captions`` and ``autotag`` (caption them),
``sampler`` and ``replay`` (training batches and held-out mixtures), ``run`` (the
resumable fine-tuning loop and the published model), ``cli`` (``soundsift finetune``).
Nothing is imported here, so that registering the command costs nothing.
"""
