// replaced by the netstring/socketmap/verdict sources
