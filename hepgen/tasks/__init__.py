"""Task modules: each tells one story from data to posterior (``neutrino``, ``pileup``), with its Lightning run."""
