"""Property steps: they need a calculator, an MD run or files, and call the pure kernels of
:mod:`thioglass.analysis` (the rule is written there).

* :mod:`~thioglass.properties.elastic_static`: elastic constants at 0 K (ASE relaxations with a
  calculator);
* :mod:`~thioglass.properties.elastic`: elastic tensor at temperature from MD of 12 strained cells,
  and :func:`~thioglass.properties.elastic.elastic_by_route`, the one choice between the routes;
* :mod:`~thioglass.properties.conductivity`: NPT runs per temperature, Li MSD, D, Nernst-Einstein
  sigma and the Arrhenius fit;
* :mod:`~thioglass.properties.rotation`: paddle-wheel analysis of a trajectory file. It runs no MD,
  but it reads a trajectory and checks its frame spacing from the file, so it is a step here;
  the kernel it wraps is :class:`thioglass.analysis.rotation.TetrahedronRotation`.

MD jobs run through :func:`thioglass.md.jobs.run_jobs`; frame spacing of trajectory files is read
by :mod:`thioglass.io.frames`.
"""
