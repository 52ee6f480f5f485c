// Where setting values come from, through apple/swift-configuration (1.4.0, default trait "JSON" only):
// one `ConfigReader` over four providers, in order of precedence:
//   1. flags        `InMemoryProvider` of the `--name value` pairs `keyward serve` was given;
//   2. environment  `EnvironmentVariablesProvider` behind a `KeyMappingProvider` that adds the `KEYWARD_`
//                   prefix (`https_port` is read as `KEYWARD_HTTPS_PORT`);
//   3. config file  the JSON file of `--config` / `KEYWARD_CONFIG_FILE`, parsed by swift-configuration's
//                   `JSONSnapshot`, its values turned into text in an `InMemoryProvider` (see below);
//   4. defaults     `InMemoryProvider` of `Settings.table`'s defaults.
// Every value is read as text and then checked by `Settings.resolve`, so a bad value gets an error that
// names the setting, whatever its source.
//
// What swift-configuration is not used for, and why:
// - Its `CommandLineArgumentsProvider` needs the `CommandLineArguments` trait, and enabling a trait needs
//   swift-tools-version 6.1; swift-argument-parser also owns `keyward`'s command line (subcommands,
//   --help). `keyward serve` hands the arguments it does not know to `Settings.flags(fromArguments:)`
//   instead, which checks them against the table.
// - Its `FileProvider` is created asynchronously and is typed: a JSON string "7443" is not an integer to
//   it and "a,b" is not a list, which today's config files may hold. `Settings.resolve` is synchronous and
//   called from many places, so the file is read here, parsed by `JSONSnapshot` (its public synchronous
//   initializer), and each top-level value is turned into text: numbers, booleans, strings, and arrays
//   (joined with commas). Unknown keys are refused (a typo must not silently leave a default).
// - YAML (comments!) needs the `YAML` trait and so tools 6.1 and Yams: the example file is JSON, and its
//   descriptions are in README's settings table.
import Configuration
import Foundation

extension Settings {
    /// One reader over flags > environment > config file > defaults (see the top of this file).
    static func reader(flags: [String: String], environment: [String: String], accessReporter: (any AccessReporter)?) throws -> ConfigReader {
        let secretEnvironmentNames = Set(table.filter(\.isSecret).map(\.environmentName))
        let environmentProvider = KeyMappingProvider(
            upstream: EnvironmentVariablesProvider(environmentVariables: environment, secretsSpecifier: .specific(secretEnvironmentNames)),
            keyMapper: { $0.prepending(["keyward"]) }
        )
        var settingFlags = flags
        settingFlags["config"] = nil
        var providers: [any ConfigProvider] = [textProvider("flags", settingFlags), environmentProvider]
        if let path = flags["config"] ?? environment["KEYWARD_CONFIG_FILE"] {
            providers.append(textProvider("config file \(path)", try loadConfigFile(path)))
        }
        providers.append(
            textProvider("defaults", Dictionary(uniqueKeysWithValues: table.compactMap { spec in spec.defaultValue.map { (spec.name, $0) } }))
        )
        return ConfigReader(providers: providers, accessReporter: accessReporter)
    }

    /// An in-memory provider of text values, secret ones marked so (swift-configuration redacts them).
    static func textProvider(_ name: String, _ values: [String: String]) -> InMemoryProvider {
        var entries: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, text) in values {
            entries[AbsoluteConfigKey([key])] = ConfigValue(.string(text), isSecret: spec(key)?.isSecret ?? false)
        }
        return InMemoryProvider(name: name, values: entries)
    }

    /// Reads a flat JSON object of settings into text values; lists may be JSON arrays or comma-separated strings.
    static func loadConfigFile(_ path: String) throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else { throw SettingsError("config file \(path) cannot be read") }
        // Top-level keys first, for the unknown-key check: JSONSnapshot flattens nested objects to dotted keys
        // and does not list them.
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw SettingsError("config file \(path) must be a JSON object")
        }
        for key in object.keys where !names.contains(key) {
            throw SettingsError("config file \(path): unknown setting '\(key)' (known: \(names.joined(separator: ", ")))")
        }
        let secrets = Set(table.filter(\.isSecret).map(\.name))
        let snapshot: JSONSnapshot
        do {
            snapshot = try JSONSnapshot(
                data: data.bytes,
                providerName: "config file",
                parsingOptions: .init(secretsSpecifier: .specific(secrets))
            )
        } catch {
            throw SettingsError("config file \(path): \(error)")
        }
        var values: [String: String] = [:]
        for key in object.keys {
            guard let text = text(of: AbsoluteConfigKey([key]), in: snapshot) else {
                throw SettingsError("config file \(path): '\(key)' must be a string, number, boolean or array")
            }
            values[key] = text
        }
        return values
    }

    /// The value of `key` in `snapshot` as text, whichever JSON type it has; nil when it has none we read.
    static func text(of key: AbsoluteConfigKey, in snapshot: JSONSnapshot) -> String? {
        for type in [ConfigType.string, .int, .double, .stringArray, .intArray, .doubleArray] {
            guard let content = (try? snapshot.value(forKey: key, type: type))?.value?.content else { continue }
            switch content {
            case .string(let text): return text
            case .int(let number): return String(number)
            case .double(let number): return String(number)
            case .stringArray(let items): return items.joined(separator: ",")
            case .intArray(let items): return items.map(String.init).joined(separator: ",")
            case .doubleArray(let items): return items.map { String($0) }.joined(separator: ",")
            default: continue
            }
        }
        return nil
    }

    /// The `--name value` arguments `keyward serve` did not parse itself, as setting flags. Names use dashes
    /// or underscores; `--name=value` works too; a list may repeat its flag (values are joined with commas);
    /// a boolean flag alone means true. Anything else is an error naming the argument.
    public static func flags(fromArguments arguments: [String]) throws -> [String: String] {
        var flags: [String: String] = [:]
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw SettingsError("unexpected argument '\(argument)': settings are given as --name value (see keyward serve --help)")
            }
            var name = String(argument.dropFirst(2))
            var value: String?
            if let equals = name.firstIndex(of: "=") {
                value = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            name = name.replacingOccurrences(of: "-", with: "_")
            guard let spec = spec(name) else {
                throw SettingsError("unknown setting \(argument) (see keyward serve --help)")
            }
            if value == nil {
                if spec.kind == .flag {
                    // `--insecure-http` alone is true; `--insecure-http false` is accepted too.
                    if index < arguments.count, parseBool(arguments[index]) != nil {
                        value = arguments[index]
                        index += 1
                    } else {
                        value = "true"
                    }
                } else {
                    guard index < arguments.count else { throw SettingsError("\(spec.flagName) needs a value") }
                    value = arguments[index]
                    index += 1
                }
            }
            if spec.kind == .list, let previous = flags[name], let next = value {
                flags[name] = previous + "," + next
            } else {
                flags[name] = value
            }
        }
        return flags
    }
}
