# cython: language_level=3, boundscheck=False, wraparound=False
"""A LIMIT ESTIMATE, not part of chainrule: the least a compiled scalar node can cost.

Written only to measure how far chainrule's compiled engine is from the limit of its design (issue 22):
a node is two doubles (value, grad), two operand pointers and two partials, plus the mark of the walk
that last saw it. There are no error checks (an overflow makes inf), no labels, scopes or undo, no
pass numbers, no pickling: everything chainrule keeps for its users is left out. Backward is one
iterative walk into a malloc'd C array of borrowed node pointers, then one reverse pass over it.

``benchmarks/limit.py`` builds it on demand with Cython (``pyximport``); it is never installed.
"""

cimport cython
from libc.stdlib cimport malloc, realloc, free

cdef long _walks = 0


@cython.no_gc
@cython.freelist(4096)
cdef class Node:
    cdef public double data
    cdef public double grad
    cdef Node a
    cdef Node b
    cdef double da
    cdef double db
    cdef long mark

    def __init__(self, double data):
        self.data = data

    def __add__(self, other):
        cdef Node x = _node(self)
        cdef Node y = _node(other)
        return _make(x.data + y.data, x, 1.0, y, 1.0)

    def __radd__(self, other):
        return _node(other) + self

    def __mul__(self, other):
        cdef Node x = _node(self)
        cdef Node y = _node(other)
        return _make(x.data * y.data, x, y.data, y, x.data)

    def __rmul__(self, other):
        return _node(other) * self

    def __neg__(self):
        return _make(-self.data, self, -1.0, None, 0.0)

    def relu(self):
        if self.data > 0.0:
            return _make(self.data, self, 1.0, None, 0.0)
        return _make(0.0, self, 0.0, None, 0.0)

    def backward(self):
        global _walks
        _walks += 1
        cdef long walk = _walks
        cdef Py_ssize_t capacity = 1024, n = 0, top = 0, i
        cdef void** order = <void**> malloc(capacity * sizeof(void*))
        cdef void** stack = <void**> malloc(capacity * sizeof(void*))
        cdef Node node, a, b
        cdef double g
        stack[0] = <void*> self
        top = 1
        self.mark = walk
        while top:  # depth-first post-order, operands before the node
            node = <Node> stack[top - 1]
            if n + 2 >= capacity or top + 2 >= capacity:
                capacity *= 2
                order = <void**> realloc(order, capacity * sizeof(void*))
                stack = <void**> realloc(stack, capacity * sizeof(void*))
            a = node.a
            if a is not None and a.mark != walk:
                a.mark = walk
                if a.a is not None:
                    stack[top] = <void*> a
                    top += 1
                    continue
                order[n] = <void*> a
                n += 1
            b = node.b
            if b is not None and b.mark != walk:
                b.mark = walk
                if b.a is not None:
                    stack[top] = <void*> b
                    top += 1
                    continue
                order[n] = <void*> b
                n += 1
            top -= 1
            order[n] = <void*> node
            n += 1
        for i in range(n):
            node = <Node> order[i]
            if node.a is not None:
                node.grad = 0.0
        self.grad = 1.0
        for i in range(n - 1, -1, -1):
            node = <Node> order[i]
            g = node.grad
            a = node.a
            if a is not None:
                a.grad += node.da * g
                b = node.b
                if b is not None:
                    b.grad += node.db * g
        free(order)
        free(stack)

    def count_ops(self):
        """The number of operation nodes in this node's graph (for the harness's agreement check)."""
        cdef Node node
        seen = {self}
        stack = [self]
        ops = 0
        while stack:
            node = stack.pop()
            if node.a is not None:
                ops += 1
                for parent in (node.a, node.b):
                    if parent is not None and parent not in seen:
                        seen.add(parent)
                        stack.append(parent)
        return ops


cdef inline Node _make(double data, Node a, double da, Node b, double db):
    cdef Node out = Node.__new__(Node)
    out.data = data
    out.a = a
    out.da = da
    out.b = b
    out.db = db
    return out


cdef inline Node _node(object x):
    if isinstance(x, Node):
        return <Node> x
    cdef Node c = Node.__new__(Node)
    c.data = x
    return c
