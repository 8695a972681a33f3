#pragma once
// Runs strata-cli as a user would and captures what it printed.
#include <QProcess>
#include <QStringList>
#include <QtTest>

struct CliRun {
    int exitCode = -1;
    QString out;
    QString err;
    QStringList errLines() const { return err.split('\n', Qt::SkipEmptyParts); }
};

inline CliRun runCli(const QStringList& args, int timeoutMs = 300000) {
    QProcess p;
    p.start(QStringLiteral(STRATA_CLI_PATH), args);
    CliRun r;
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
        r.err = "timed out";
        return r;
    }
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

// Checks that a run failed as bad input (exit code 2) with a single stderr line that mentions
// each of `mentions`, and printed nothing on stdout. Qt Test's checks inside: call it, then
// return if QTest::currentTestFailed().
inline void verifyBadInput(const CliRun& r, const QStringList& mentions) {
    QCOMPARE(r.exitCode, 2);
    const QStringList lines = r.errLines();
    QVERIFY2(lines.size() == 1, qPrintable("expected one error line, got: " + r.err));
    QVERIFY2(lines[0].startsWith("strata-cli: error: "), qPrintable(lines[0]));
    for (const QString& m : mentions) QVERIFY2(lines[0].contains(m), qPrintable(lines[0] + " does not mention " + m));
    QVERIFY(r.out.isEmpty());
}
