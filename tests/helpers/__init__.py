"""What the tests share besides fixtures (those are in ``conftest.py``):
the numpy reference of every cell (``reference``), finite differences
(``gradcheck``), the parametrisation tables (``cases``), running code in
fresh interpreters and threads (``running``), and the script each MPI rank
runs (``mpi_fit``)."""
