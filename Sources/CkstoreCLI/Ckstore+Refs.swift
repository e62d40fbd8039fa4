import ArgumentParser
import CKStore
import Foundation

extension Ckstore {
  /// `ckstore tag [-f] NAME [REV]`, `ckstore tag -d NAME…`, `ckstore tag`.
  struct Tag: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "List tags, tag a commit, move (-f) or delete (-d) a tag.",
      discussion: """
        A tagged commit always keeps its data. Deleting or moving a tag lets the next gc free \
        the data that only the tag kept (the reflog does not keep data alive).
        """)

    @Argument(help: "The tag to create, move or delete; omit to list tags.") var names: [String] =
      []
    @Flag(name: [.customShort("d"), .long], help: "Delete the named tags.") var delete = false
    @Flag(name: [.customShort("f"), .long], help: "Move the tag if it exists.") var force = false
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
      if delete && force { throw ValidationError("-d and -f cannot be combined") }
      if !delete && names.count > 2 { throw ValidationError("expected NAME [REV]") }
      if delete && names.isEmpty { throw ValidationError("-d needs the tags to delete") }
      if force && names.isEmpty { throw ValidationError("-f needs NAME [REV]") }
    }

    func run() throws {
      let store = try storeOptions.open()
      if names.isEmpty { return try list(store) }
      var changes: [RefChange] = []
      if delete {
        for name in names { changes.append(try store.deleteTag(name)) }
      } else {
        let c = try store.resolve(names.count > 1 ? names[1] : "HEAD")
        changes.append(try store.setTag(names[0], at: c.id, force: force))
      }
      try report(changes, store: store, json: output.json)
    }

    private func list(_ store: Store) throws {
      let tags = try store.tags()
      if output.json {
        struct Entry: Encodable {
          var name: String
          var commit: String
        }
        struct TagsJSON: Encodable { var tags: [Entry] }
        try printJSON(TagsJSON(tags: tags.map { Entry(name: $0.name, commit: $0.id.hex) }))
      } else {
        for t in tags { print("\(t.name)  \(t.id.short)") }
      }
    }
  }

  /// `ckstore branch [NAME [REV]]`, `-d`/`-D NAME`, `-m OLD NEW`.
  struct Branch: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "List, create, delete (-d, -D) or rename (-m) branches.",
      discussion: """
        With --switch, a new branch also becomes the current branch (where new commits go); \
        `ckstore switch` moves between existing branches. -d refuses the current branch, and a \
        branch whose commits no other branch or tag reaches (gc would free their data); -D \
        deletes it anyway. -m renames a branch with its reflog; HEAD follows.
        """)

    @Argument(help: "NAME [REV] to create; NAME… with -d/-D; OLD NEW with -m; none to list.")
    var names: [String] = []
    @Flag(name: .customLong("switch"), help: "Make the new branch current.") var switchTo = false
    @Flag(name: .customShort("d"), help: "Delete branches whose commits another ref reaches.")
    var delete = false
    @Flag(name: .customShort("D"), help: "Delete branches, even if that drops their commits.")
    var forceDelete = false
    @Flag(name: .customShort("m"), help: "Rename branch OLD to NEW.") var move = false
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
      let modes = [delete, forceDelete, move].filter { $0 }.count
      if modes > 1 { throw ValidationError("-d, -D and -m cannot be combined") }
      if (delete || forceDelete) && names.isEmpty {
        throw ValidationError("-d/-D needs the branches to delete")
      }
      if move && names.count != 2 { throw ValidationError("-m takes OLD NEW") }
      if modes == 0 && names.count > 2 { throw ValidationError("expected NAME [REV]") }
      if switchTo && (modes > 0 || names.isEmpty) {
        throw ValidationError("--switch goes with creating a branch: branch NAME [REV] --switch")
      }
    }

    func run() throws {
      let store = try storeOptions.open()
      if names.isEmpty { return try list(store) }
      var changes: [RefChange] = []
      if delete || forceDelete {
        for name in names { changes.append(try store.deleteBranch(name, force: forceDelete)) }
      } else if move {
        changes.append(try store.renameBranch(names[0], to: names[1]))
      } else if let existing = try store.head(of: names[0]) {
        // `branch exp --switch` on an existing branch switches to it; naming a start point too
        // asks for a new branch there, which cannot be had.
        guard switchTo && names.count == 1 else {
          throw StoreError(
            .invalidArgument,
            "branch '\(names[0])' already exists (at \(existing.short))"
              + (switchTo ? "; to switch to it: ckstore switch \(names[0])" : ""))
        }
        try store.checkout(branch: names[0])
        guard output.json else { return print("switched to \(names[0])") }
        changes.append(
          RefChange(kind: .branch, name: names[0], action: .unchanged, old: existing, new: existing)
        )
      } else {
        let c = try store.resolve(names.count > 1 ? names[1] : "HEAD")
        try store.createBranch(names[0], at: c.id, switchingTo: switchTo)
        changes.append(
          RefChange(kind: .branch, name: names[0], action: .created, old: nil, new: c.id))
      }
      try report(changes, store: store, json: output.json)
      if switchTo && !output.json { print("switched to \(names[0])") }
    }

    private func list(_ store: Store) throws {
      let current = try store.currentBranch()
      let branches = try store.branches()
      guard output.json else {
        for b in branches { print("\(b.name == current ? "*" : " ") \(b.name)  \(b.id.short)") }
        return
      }
      struct Entry: Encodable {
        var name: String
        var head: String
        var current: Bool
      }
      struct BranchesJSON: Encodable {
        var branches: [Entry]
        var current: String
      }
      try printJSON(
        BranchesJSON(
          branches: branches.map {
            Entry(name: $0.name, head: $0.id.hex, current: $0.name == current)
          }, current: current))
    }
  }
}

/// Prints what `tag` or `branch` changed: a line per ref, or `{"refUpdates": […]}`.
private func report(_ changes: [RefChange], store: Store, json: Bool) throws {
  if json { return try printJSON(RefUpdatesJSON(refUpdates: changes.map(RefUpdateJSON.init))) }
  for c in changes {
    let at = try c.new.map { id in " → \(id.short) (step \(try store.commit(id).step))" } ?? ""
    switch c.action {
    case .created: print("\(c.kind) \(c.name)\(at)")
    case .updated: print("\(c.kind) \(c.name) moved from \(c.old!.short)\(at)")
    case .unchanged: print("\(c.kind) \(c.name) unchanged\(at)")
    case .deleted: print("deleted \(c.kind) \(c.name) (was \(c.old!.short))")
    case .renamed: print("renamed \(c.kind) \(c.oldName!) to \(c.name)\(at)")
    }
  }
}
