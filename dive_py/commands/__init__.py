"""The ``divepy`` commands, dispatched by :mod:`dive_py.cli` on the first argument.

* :mod:`~dive_py.commands.explore`: ``divepy [flags] IMAGE`` (the default): read the image,
  then the CI report, the JSON export or the explorer.
* :mod:`~dive_py.commands.build`: ``divepy build [docker build args] -t TAG CONTEXT``: build
  through the engine, then the same dispatch for the built image.
"""
