import CKStore
import Foundation
import Testing

/// Progress output (issue 12, point 7): redrawn in place on a terminal, with every redraw
/// clearing the rest of the line; nothing but plain lines when not a terminal.
@Suite(.serialized) struct ProgressTests {
  /// Runs `ckstore ARGS` with stdin, stdout and stderr on a new pseudo-terminal (Python's `pty`
  /// support: `os.openpty`), returning everything the terminal received.
  static func underPTY(_ args: [String]) throws -> (status: Int32, bytes: String) {
    let script = """
      import os, subprocess, sys
      m, s = os.openpty()
      p = subprocess.Popen(sys.argv[1:], stdin=s, stdout=s, stderr=s, close_fds=True)
      os.close(s)
      out = b''
      while True:
          try:
              d = os.read(m, 65536)
          except OSError:
              break
          if not d:
              break
          out += d
      sys.stdout.buffer.write(out)
      sys.exit(p.wait())
      """
    let r = try CLI.run(
      ["-c", script, CLI.binary.path] + args, executable: "/usr/bin/python3")
    return (r.status, r.stdout)
  }

  /// What a terminal shows after `bytes`: `\r` returns to column 0, `ESC[K` erases to the end of
  /// the line, `\n` moves on; anything else overwrites. Other escape sequences fail the test.
  /// Also returns each frame: the line as shown after every erase (each redraw ends with one).
  static func screen(_ bytes: String) -> (lines: [String], frames: [String]) {
    var lines: [String] = []
    var frames: [String] = []
    var line: [Character] = []
    var cursor = 0
    var it = Array(bytes)[...]
    while let ch = it.popFirst() {
      switch ch {
      case "\r\n", "\n":
        lines.append(String(line))
        line = []
        cursor = 0
      case "\r": cursor = 0
      case "\u{1B}":
        let sequence = String(it.prefix(2))
        #expect(sequence == "[K", "unexpected escape sequence ESC\(sequence)")
        it = it.dropFirst(2)
        line.removeSubrange(min(cursor, line.count)...)
        frames.append(String(line))
      default:
        if cursor < line.count { line[cursor] = ch } else { line.append(ch) }
        cursor += 1
      }
    }
    if !line.isEmpty { lines.append(String(line)) }
    return (lines, frames)
  }

  @Test func trainingRedrawsCleanlyOnATerminal() throws {
    let dir = try Sandbox(initStore: false)
    // Long enough (about 2 s on a quiet machine) for the rate and ETA to appear: the bar shows
    // them only after 0.25 s, and 1500 steps finished sooner than that.
    let r = try Self.underPTY([
      "train", "--steps", "30000", "--save-every", "10000", "--store", dir.store,
    ])
    #expect(r.status == 0, "\(r.bytes)")
    let raw = r.bytes
    // Redrawn in place, several times, each redraw ending with erase-to-end-of-line.
    let redraws = raw.components(separatedBy: "\r").dropFirst().filter { !$0.hasPrefix("\n") }
    #expect(redraws.count >= 3, "\(raw.debugDescription)")
    #expect(raw.contains("steps/s") && raw.contains("ETA "))
    let (shown, frames) = Self.screen(raw)
    let bar = try Regex(
      #"^step \d+/30000 \[[#-]{30}\] loss \d+\.\d{4}(  \d+ steps/s(  ETA \d+(s|m\d\ds))?)?$"#)
    // Every frame the terminal showed is one whole bar (or the cleared line): no characters
    // left over from a longer earlier line.
    let bars = frames.filter { !$0.isEmpty }
    #expect(bars.count >= 3)
    for frame in bars { #expect(frame.wholeMatch(of: bar) != nil, "frame: \(frame)") }
    #expect(bars.contains { $0.contains("steps/s  ETA ") })
    #expect(!shown.contains { $0.hasPrefix("step ") }, "the bar is cleared at the end")
    // Each save's line starts clean on its own line, the bar cleared first.
    let saved = shown.filter { $0.hasPrefix("saved step-") }
    #expect(saved.count == 3, "\(shown)")
    #expect(!shown.contains { $0.contains("saved") && !$0.hasPrefix("saved") })
    #expect(shown.last == "done: main is at step 30000")
  }

  @Test func importShowsBytesAndRateOnATerminal() throws {
    let box = try Sandbox()
    let file = try box.write("big.safetensors", [try floatTensor("w", [2048, 1024], seed: 9)])
    let r = try Self.underPTY(["import", file, "--store", box.store])
    #expect(r.status == 0, "\(r.bytes)")
    let (shown, _) = Self.screen(r.bytes)
    let progress = try Regex(#"^importing 8\.0 MiB / 8\.0 MiB \(100%\) [\d.]+ MB/s$"#)
    #expect(shown.contains { $0.wholeMatch(of: progress) != nil }, "\(shown)")
  }

  @Test func plainLinesWhenNotATerminal() throws {
    let box = try Sandbox()
    let train = try box.ok("train", "--steps", "600", "--save-every", "200")
    let file = try box.write("big.safetensors", [try floatTensor("w", [2048, 1024], seed: 9)])
    let imported = try box.ok("import", file)
    for r in [train, imported] {
      for text in [r.stdout, r.stderr] {
        #expect(!text.contains("\r") && !text.contains("\u{1B}"), "\(text.debugDescription)")
      }
    }
    #expect(train.stdout.split(separator: "\n").filter { $0.hasPrefix("saved step-") }.count == 3)
    #expect(train.stderr.isEmpty)
  }
}
