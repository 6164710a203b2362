/// `resources:` of a stage: what the Slurm executor asks the cluster for. None of it enters
/// the action key: where a stage runs does not change what it computes. The local executor
/// ignores them (its budget is `threads` within `--jobs`).
public struct StageResources: Sendable, Equatable {
    /// CPUs for the job (`--cpus-per-task`); nil: the stage's `threads`.
    public var cpus: Int?
    /// Memory for the job as Slurm spells it (`--mem`): a number of megabytes, or a number
    /// with a K, M, G or T suffix.
    public var mem: String?
    /// Time limit (`--time`) in one of Slurm's forms: `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`, `D-H:M:S`.
    public var time: String?
    public var partition: String?
    /// Generic resources (`--gres`), e.g. `gpu:1` or `gpu:a100:2`.
    public var gres: String?

    public init(cpus: Int? = nil, mem: String? = nil, time: String? = nil, partition: String? = nil, gres: String? = nil) {
        self.cpus = cpus
        self.mem = mem
        self.time = time
        self.partition = partition
        self.gres = gres
    }

    public static let keys = ["cpus", "mem", "time", "partition", "gres"]

    /// Seconds of a Slurm time limit, or nil if `text` is not one of Slurm's forms.
    /// Slurm itself rounds a limit up to whole minutes.
    public static func seconds(ofTime text: String) -> Int? {
        let dash = text.split(separator: "-", omittingEmptySubsequences: false)
        guard dash.count <= 2 else { return nil }
        func number(_ s: Substring) -> Int? {
            guard !s.isEmpty, s.count <= 9, s.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return Int(s)
        }
        let clock = dash.last!.split(separator: ":", omittingEmptySubsequences: false)
        let fields = clock.compactMap(number)
        guard clock.count <= 3, fields.count == clock.count else { return nil }
        if dash.count == 2 {
            guard let days = number(dash[0]) else { return nil }
            // D-H, D-H:M, D-H:M:S
            let units = [3600, 60, 1]
            return days * 86400 + zip(fields, units).reduce(0) { $0 + $1.0 * $1.1 }
        }
        switch fields.count {
        case 1: return fields[0] * 60                                   // M
        case 2: return fields[0] * 60 + fields[1]                       // M:S
        default: return fields[0] * 3600 + fields[1] * 60 + fields[2]   // H:M:S
        }
    }

    /// Whether `text` is a memory size Slurm accepts for `--mem`.
    public static func isMemory(_ text: String) -> Bool {
        var digits = Substring(text)
        if let last = digits.last, "KMGTkmgt".contains(last) { digits = digits.dropLast() }
        return !digits.isEmpty && digits.count <= 12 && digits.allSatisfy { $0.isASCII && $0.isNumber } && digits.contains { $0 != "0" }
    }
}
