"""Built-in destination adapters, registered under the ``septet.destinations`` group."""
