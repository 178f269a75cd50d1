# NumPy dtypes laid over the C structs (dtypes.pxi).

cdef unsigned char *array_data(object arr, object dtype) except NULL
