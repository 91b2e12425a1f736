"""Property workflows that run MD and call the analysis kernels (matcalc-style steps).

* :mod:`~thioglass.properties.elastic`: elastic tensor at temperature from MD of 12 strained cells
  (the static route is :class:`thioglass.analysis.elastic.ElasticStep`);
* :mod:`~thioglass.properties.conductivity`: NPT runs per temperature, Li MSD, D, Nernst-Einstein
  sigma and the Arrhenius fit;
* :mod:`~thioglass.properties.rotation`: paddle-wheel analysis of a trajectory;
* :mod:`~thioglass.properties.runner`: independent MD jobs here or on Dask workers.
"""
