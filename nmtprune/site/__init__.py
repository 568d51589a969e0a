"""The explanatory website and videos of the pruning methods, built from the real model and results.

* :mod:`.export`: the one versioned export the site reads, :mod:`.schema` checks it, :mod:`.chunks` splits
  it into a small core (``data/export.json``) and chunks the page fetches on demand;
* :mod:`.results`, :mod:`.retrained`: the study's measured BLEU and perplexity, pruned only and retrained;
* layers, lowest first: :mod:`.units`, :mod:`.texts`, the readers, :mod:`.export`,
  :mod:`.chunks`, :mod:`.build`, the videos, :mod:`.cli`;
* :mod:`.texts`: the "how it works" walk-throughs, one entry per score; the selections' steps are in
  :mod:`.texts_selections`, the retraining steps in :mod:`.texts_training`;
* :mod:`.recorded_frames`: reads the short real runs that the site study's ``site-frames`` cells record
  (:mod:`nmtprune.experiments.siteframes`: they train, so they live below the site);
* :mod:`.build`: ``nmtprune site --out DIR`` lays out the static site (its HTML/CSS/JS ship as package
  data in ``nmtprune/site/static/``);
* :mod:`.video`: ``nmtprune video --method M --out FILE`` renders the same animations to MP4 and GIF.
"""

from .cli import add_cli

__all__ = ["add_cli"]
