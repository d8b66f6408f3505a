class FileError(Exception):
    """One input file could not be read or scored. Counts against the error threshold."""

    def __init__(self, file_name: str, message: str, kind: str = "FileError"):
        super().__init__(f"{file_name}: {message}")
        self.file_name = file_name
        self.message = message
        self.kind = kind
