// Only Glibc here, imported @preconcurrency: `stdout` and `stderr` are C globals that Swift 6
// otherwise refuses to touch, and this file is their one home in the CLI.
@preconcurrency import Glibc

/// Standard error, written with stdio: a failed write (`2>/dev/full`) is ignored instead of
/// trapping as `FileHandle.write` does, since there is nowhere left to report it.
enum StandardError {
  /// Writes `text` as it is (no newline added).
  static func write(_ text: String) {
    fputs(text, stderr)
    fflush(stderr)
  }
}

/// Standard output, where `print` writes through stdio's buffer.
enum StandardOutput {
  /// Flushes what `print` buffered; if any write failed (full disk, closed pipe) the output is
  /// incomplete, so this says so on stderr and exits 2.
  static func flushOrExit() {
    if fflush(stdout) != 0 || ferror(stdout) != 0 {
      let reason = String(cString: strerror(errno))
      StandardError.write("ckstore: error: cannot write standard output: \(reason)\n")
      exit(2)
    }
  }
}
