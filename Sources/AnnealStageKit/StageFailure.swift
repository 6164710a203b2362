/// An error a stage throws to fail with a message: the message is all the user sees, so it
/// says what is wrong and what to change ("the shards use a vocabulary of 4096 but the model
/// has 2048; feed the stage the shards its model was trained on").
public struct StageFailure: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String

    public init(_ description: String) { self.description = description }
}
