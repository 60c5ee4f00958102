"""The model: the activation registry, the MLP and its init recipes."""
