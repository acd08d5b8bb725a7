"""chainrule's neural networks, built from ``autograd.Value`` nodes so that every gradient can be inspected."""
