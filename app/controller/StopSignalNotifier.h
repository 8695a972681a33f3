#pragma once
// SIGTERM, SIGINT and SIGHUP (a logout, a service manager stopping the session) reach the window
// as a Qt signal on the UI thread: a handler writes a byte to a socket pair, which a
// QSocketNotifier reads. The first one stops the program gracefully (the window closes with its
// job left for later, saved and resumable); a second one ends the process at once.
#include <QObject>
#include <QSocketNotifier>

#include <memory>

namespace strata::app {

class StopSignalNotifier : public QObject {
    Q_OBJECT

public:
    explicit StopSignalNotifier(QObject* parent = nullptr);
    ~StopSignalNotifier() override;
    bool ok() const { return notifier_ != nullptr; }

signals:
    void stopRequested(int signalNumber);

private:
    std::unique_ptr<QSocketNotifier> notifier_;
};

}  // namespace strata::app
