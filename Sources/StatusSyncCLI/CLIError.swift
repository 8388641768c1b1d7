/// A runtime error of a command: its text is the one-line reason printed on stderr (exit status 1).
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
