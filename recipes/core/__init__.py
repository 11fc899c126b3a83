"""The spine a copied recipe needs: ``connect``, the worker plugin and ``serve``, the model switch, tool
errors the model can read, one-sentence errors. Imports nothing else from ``recipes``."""
