"""Short real runs recorded frame by frame for the site and its videos; each writes one small JSON artifact.

* :mod:`.retraining`: ``nmtprune site-frames``, a checkpoint pruned and retrained under its fixed mask (or,
  for an at-initialisation score, trained sparse from the initialisation it scored);
* :mod:`.greg`: ``nmtprune site-greg``, Growing Regularization's penalty phase fading out the units to remove;
* :mod:`.sparsegpt`: ``nmtprune site-sparsegpt``, SparseGPT passing over one matrix column by column.

They train and score, so they live here, beside the site's other computed data (:mod:`..sitedata`);
the site (:mod:`nmtprune.site`) only reads their artifacts back.
"""
