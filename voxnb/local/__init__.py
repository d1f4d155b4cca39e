"""The embedded offline engine and the local server (``voxnb serve``)."""
