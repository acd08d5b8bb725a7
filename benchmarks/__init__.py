"""chainrule's benchmarks against micrograd and PyTorch (0-dim float64 tensors).

Run ``python benchmarks/run.py`` from the repository root (``--help`` lists the options). The modules:

* ``engines``: one small adapter per engine (leaf and parameter constructors, backward, reading a
  value or a gradient, zeroing, an SGD update, counting the operations of a graph).
* ``workloads``: the graph builders, written once for every engine, and the timed workloads W1-W7.
* ``memory``: W4, memory per node and the peak of a W1 step, each measured in a fresh child process.
* ``report``: the machine description, the table and the JSON file.
"""
