// Every command's --help lists exactly the flags its parser takes, read from the one table both
// use (CommandSpec), so that the two cannot drift; `strata --help` lists every option of the
// window's; and the flags the commands read in their code are all in the table.
#include <QDir>
#include <QDirIterator>
#include <QRegularExpression>
#include <QtTest>

#include <set>

#include "CliRunner.h"
#include "CommandSpec.h"
#ifdef STRATA_WINDOW_PATH
#include "WindowOptions.h"
#endif

using namespace strata::cli;

namespace {

// The flags of the option lines ("  --name VALUE   help") of a help text.
std::set<QString> listedFlags(const QString& help) {
    std::set<QString> flags;
    static const QRegularExpression line(QStringLiteral(R"(^\s+(?:-\w, )?--([a-z][a-z0-9-]*))"),
                                         QRegularExpression::MultilineOption);
    auto it = line.globalMatch(help);
    while (it.hasNext()) flags.insert(it.next().captured(1));
    return flags;
}

QString describe(const std::set<QString>& flags) {
    QStringList names;
    for (const QString& f : flags) names << "--" + f;
    return names.join(' ');
}

}  // namespace

class TestCliHelp : public QObject {
    Q_OBJECT
private slots:
    void everyCommandListsExactlyItsFlags_data() {
        QTest::addColumn<QString>("command");
        for (const CommandSpec& spec : commandSpecs()) QTest::newRow(spec.name.c_str()) << QString::fromStdString(spec.name);
    }
    void everyCommandListsExactlyItsFlags() {
        QFETCH(QString, command);
        const CommandSpec* spec = findCommandSpec(command.toStdString());
        QVERIFY(spec);
        QStringList args = command.split(' ');
        args << "--help";
        const CliRun r = runCli(args, 60000);
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY2(r.out.startsWith("usage: strata-cli " + command), qPrintable(r.out));
        std::set<QString> expected{"help"};
        for (const FlagSpec& f : spec->flags) expected.insert(QString::fromStdString(f.name));
        const std::set<QString> listed = listedFlags(r.out);
        QVERIFY2(listed == expected, qPrintable("listed: " + describe(listed) + "\nparser: " + describe(expected)));
        // Each listed flag is one the parser takes, with a value where help shows one.
        for (const FlagSpec& f : spec->flags) {
            std::vector<std::string> one = {"--" + f.name};
            if (!f.value.empty()) one.push_back("1");
            auto parsed = parseCommand(*spec, one);
            QVERIFY2(parsed.ok(), parsed.ok() ? "" : parsed.error().message.c_str());
            QVERIFY(parsed->has(f.name));
        }
        auto unknown = parseCommand(*spec, {"--no-such-flag"});
        QVERIFY(!unknown.ok());
        QVERIFY2(unknown.error().message.find("strata-cli " + spec->name + " --help") != std::string::npos,
                 unknown.error().message.c_str());
    }

    // The flags named in the code that reads them (args->has("x"), get, integer, ...) are declared:
    // a flag read but not declared could never be given.
    void everyFlagTheCodeReadsIsDeclared() {
        std::set<std::string> declared;
        for (const CommandSpec& spec : commandSpecs())
            for (const FlagSpec& f : spec.flags) declared.insert(f.name);
        static const QRegularExpression read(
            QStringLiteral(R"(args(?:->|\.)\s*(?:has|get|all|integer|number|byteSize|required)\("([a-z0-9-]+)\")"));
        QDirIterator files(QStringLiteral(STRATA_CLI_SOURCE_DIR), {"*.cpp"});
        int reads = 0;
        while (files.hasNext()) {
            QFile file(files.next());
            QVERIFY(file.open(QIODevice::ReadOnly));
            auto it = read.globalMatch(QString::fromUtf8(file.readAll()));
            while (it.hasNext()) {
                const std::string flag = it.next().captured(1).toStdString();
                ++reads;
                QVERIFY2(declared.count(flag), qPrintable(file.fileName() + " reads --" + QString::fromStdString(flag) +
                                                          ", which no command declares"));
            }
        }
        QVERIFY2(reads > 30, "the pattern found too few flag reads: has the code's style changed?");
    }

    void overallHelpNamesEveryCommand() {
        const CliRun r = runCli({"--help"}, 60000);
        QCOMPARE(r.exitCode, 0);
        for (const CommandSpec& spec : commandSpecs())
            QVERIFY2(r.out.contains("strata-cli " + QString::fromStdString(spec.name)), spec.name.c_str());
        const CliRun sessions = runCli({"sessions", "--help"}, 60000);
        QCOMPARE(sessions.exitCode, 0);
        for (const char* sub : {"list", "show", "export", "delete"})
            QVERIFY(sessions.out.contains(QStringLiteral("usage: strata-cli sessions ") + sub));
        const CliRun version = runCli({"--version"}, 60000);
        QCOMPARE(version.exitCode, 0);
        QVERIFY2(version.out.startsWith("strata-cli "), qPrintable(version.out));
    }

    void windowHelpListsEveryOption() {
#ifndef STRATA_WINDOW_PATH
        QSKIP("the window is not built (STRATA_BUILD_GUI=OFF)");
#else
        QProcess p;
        p.start(QStringLiteral(STRATA_WINDOW_PATH), {"--help"});
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitCode(), 0);
        const QString out = QString::fromUtf8(p.readAllStandardOutput());
        std::set<QString> expected{"help", "help-all", "version"};  // Qt's own
        for (const QCommandLineOption& o : strata::app::WindowOptions().all()) expected.insert(o.names().front());
        const std::set<QString> listed = listedFlags(out);
        QVERIFY2(listed == expected, qPrintable("listed: " + describe(listed) + "\noptions: " + describe(expected) +
                                                "\n" + out));
        QVERIFY2(out.contains("files"), qPrintable(out));
#endif
    }
};

QTEST_GUILESS_MAIN(TestCliHelp)
#include "test_cli_help.moc"
