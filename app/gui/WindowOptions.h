#pragma once
// The window's command line: the options `strata --help` lists and main() reads.
#include <QCommandLineOption>
#include <QList>

namespace strata::app {

struct WindowOptions {
    QCommandLineOption model{QStringLiteral("model"), QStringLiteral("The model to load (a GGUF file or a folder)."),
                             QStringLiteral("PATH")};
    QCommandLineOption ask{QStringLiteral("ask"),
                           QStringLiteral("Ask this question once the model and the files are ready."),
                           QStringLiteral("QUESTION")};
    // For documentation and visual checks: the window rendered into a PNG, then exit.
    QCommandLineOption screenshot{QStringLiteral("screenshot"),
                                  QStringLiteral("Save a picture of the window to FILE and exit: once it is shown, or "
                                                 "with --screenshot-after-tokens once the answer is that long."),
                                  QStringLiteral("FILE")};
    QCommandLineOption screenshotAfterTokens{QStringLiteral("screenshot-after-tokens"),
                                             QStringLiteral("With --screenshot and --ask: take the picture once the "
                                                            "answer has N tokens."),
                                             QStringLiteral("N")};

    // Every option above, in the order --help lists them (--help and --version come from Qt).
    QList<QCommandLineOption> all() const { return {model, ask, screenshot, screenshotAfterTokens}; }
};

// The application's description and its positional argument, for QCommandLineParser.
QString windowDescription();
QString windowFilesHelp();

}  // namespace strata::app
