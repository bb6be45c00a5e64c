"""Built-in destination adapters; each registers under the ``septet.destinations`` entry-point group."""
