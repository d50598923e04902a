"""Reading and writing captures."""

from pynetfilter.io.pcap import PcapError, Reader, Record, Writer, read, write

__all__ = ["PcapError", "Reader", "Record", "Writer", "read", "write"]
