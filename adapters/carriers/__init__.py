"""Built-in carrier adapters; each registers under the ``septet.carriers`` entry-point group."""
