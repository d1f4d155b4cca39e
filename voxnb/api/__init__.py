"""The HTTP side of voxnb: :class:`~voxnb.api.client.Client` / :class:`~voxnb.api.client.AsyncClient`,
request parameters and validation, retries, SSE streaming, batch runs with a cache.

The public names are exported from :mod:`voxnb` itself (``voxnb.Client``, ``voxnb.AsyncClient``,
``voxnb.bias_terms``); the submodules hold the parts.
"""
