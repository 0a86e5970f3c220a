def pytest_configure(config):
    config.addinivalue_line("markers", "fuzz: hostile-input runs of the CLI (tools/fuzz/hostile.py); $ONNXGRADSIGN_CLI "
                                       "names the CLI to run instead of the Debug build")
