"""The website's data, computed by study cells: what ``nmtprune site`` shows of each score and method.

* :mod:`.names`: the cell kind and parameters the site matches stored data by (no torch);
* :mod:`.study`: the study's ``site`` section and its ``site-score`` cells;
* :mod:`.compute`: one score's histograms, shown cells, methods' pruned-at bytes and sample translations
  (:mod:`.weights`, per-row's :mod:`.rows`, :mod:`.units`, :mod:`.samples`, scored by :mod:`.runner`);
* :mod:`.pack`: the compact stored form and its inverse (the cell's runner: :mod:`nmtprune.experiments.site_cells`);
* :mod:`.encode`, :mod:`.grid`: how arrays travel and which weights a matrix panel shows.

The site (:mod:`nmtprune.site`) imports these; nothing here imports the site.
"""
