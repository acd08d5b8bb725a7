# Compiled engine only: how a node is freed. ``autograd/engine.py`` cimports this when Cython compiles it;
# plain Python never reads this file (CPython frees its own objects without deep recursion).
#
# Freeing a node drops its references to its operands, which may free them, and their operands, ...:
# C recurses once per level, and a million-long chain would overflow the C stack. So chainrule wraps
# the node type's deallocator (Cython's, which clears the fields and keeps the memory on a free list):
# below a depth of 200 nested frees it simply runs it; deeper, it first moves the node's two operand
# references onto a stack of its own, which the outermost free then releases one at a time. No Python
# code runs and no Python error can be raised on the way (the stack grows with PyMem_RawRealloc; if
# that fails the operands are freed by recursion, as any C object's would be), so, unlike a Cython
# ``__dealloc__``, the wrapper needs no save and restore of the current exception: that took a third
# of the cost of freeing a node.

cdef extern from *:
    """
    static destructor chainrule_free_fields = NULL;  /* Cython's tp_dealloc of Value */
    static Py_ssize_t chainrule_offset_a = 0, chainrule_offset_b = 0;  /* where a node keeps _a, _b */
    static int chainrule_freeing_depth = 0;
    static PyObject **chainrule_waiting = NULL;  /* operands whose release waits for the outermost free */
    static Py_ssize_t chainrule_waiting_count = 0, chainrule_waiting_size = 0;

    /* Moves the reference in *field onto the waiting stack (nothing to do for None or NULL). */
    static void chainrule_wait(PyObject **field) {
        PyObject *operand = *field;
        if (operand == NULL || operand == Py_None) return;
        if (chainrule_waiting_count == chainrule_waiting_size) {
            Py_ssize_t size = chainrule_waiting_size ? 2 * chainrule_waiting_size : 1024;
            PyObject **grown = (PyObject **)PyMem_RawRealloc(chainrule_waiting, (size_t)size * sizeof(PyObject *));
            if (grown == NULL) return;  /* no memory: the field stays, and is freed by recursion */
            chainrule_waiting = grown;
            chainrule_waiting_size = size;
        }
        chainrule_waiting[chainrule_waiting_count++] = operand;
        *field = NULL;  /* Cython's deallocator clears a NULL field as it does None */
    }

    static void chainrule_free_node(PyObject *node) {
        if (chainrule_freeing_depth >= 200) {
            chainrule_wait((PyObject **)((char *)node + chainrule_offset_a));
            chainrule_wait((PyObject **)((char *)node + chainrule_offset_b));
            chainrule_free_fields(node);
            return;
        }
        chainrule_freeing_depth++;
        chainrule_free_fields(node);  /* may free the operands, and theirs, ... up to 200 deep */
        if (chainrule_freeing_depth == 1) {
            while (chainrule_waiting_count > 0) {
                PyObject *operand = chainrule_waiting[--chainrule_waiting_count];
                Py_DECREF(operand);  /* the last reference, usually: freed here, one level deep */
            }
            if (chainrule_waiting_size > 65536) {  /* a huge graph needed a big stack: give it back */
                PyMem_RawFree(chainrule_waiting);
                chainrule_waiting = NULL;
                chainrule_waiting_size = 0;
            }
        }
        chainrule_freeing_depth--;
    }

    /* Installs chainrule_free_node as the deallocator of each node class. `probe` is a node made by an
       operation on two distinct nodes `a` and `b`: the offsets of its operand fields are found by
       looking for them in its memory, so nothing here depends on how Cython lays out the struct.
       Returns 0, or -1 if the fields are not found exactly once each (then nothing is installed). */
    static int chainrule_install_free(PyObject *probe, PyObject *a, PyObject *b, PyObject *classes) {
        PyTypeObject *value_type = Py_TYPE(probe);
        PyObject **words = (PyObject **)probe;
        Py_ssize_t found_a = 0, found_b = 0, i, n;
        for (i = sizeof(PyObject) / sizeof(PyObject *); i < value_type->tp_basicsize / (Py_ssize_t)sizeof(PyObject *); i++) {
            if (words[i] == a) { found_a++; chainrule_offset_a = i * (Py_ssize_t)sizeof(PyObject *); }
            if (words[i] == b) { found_b++; chainrule_offset_b = i * (Py_ssize_t)sizeof(PyObject *); }
        }
        if (found_a != 1 || found_b != 1 || !PyTuple_Check(classes)) return -1;
        if (chainrule_free_fields == NULL) chainrule_free_fields = value_type->tp_dealloc;
        n = PyTuple_GET_SIZE(classes);
        for (i = 0; i < n; i++) {
            PyTypeObject *cls = (PyTypeObject *)PyTuple_GET_ITEM(classes, i);
            if (cls->tp_dealloc != chainrule_free_fields && cls->tp_dealloc != chainrule_free_node) return -1;
        }
        for (i = 0; i < n; i++) ((PyTypeObject *)PyTuple_GET_ITEM(classes, i))->tp_dealloc = chainrule_free_node;
        return 0;
    }
    """
    int chainrule_install_free(object probe, object a, object b, tuple classes)
