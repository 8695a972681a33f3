#pragma once
// The saved sessions as rows of a table. The model keeps plain copies of what the store listed, so
// views can sort and paint without touching the database (which is read on a worker thread).
// While a job works on a session, its State cell says what the job is doing ("prefilling 40%",
// "answering") rather than the stored state, which changes only at checkpoints and at the end.
#include <QAbstractTableModel>
#include <QHash>

#include <vector>

#include "session/SessionStore.h"

namespace strata::ui {

class SessionListModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column { TitleColumn, UpdatedColumn, StateColumn, TurnsColumn, ContextTokensColumn, ColumnCount };
    enum Role {
        IdRole = Qt::UserRole + 1,  // the session id, a QString, on every column
        SortRole,                   // the raw value of the column (milliseconds, counts, ...)
    };

    explicit SessionListModel(QObject* parent = nullptr);

    void setSessions(std::vector<strata::SessionInfo> sessions);
    const std::vector<strata::SessionInfo>& sessions() const { return sessions_; }
    // A default SessionInfo for a row out of range.
    strata::SessionInfo sessionAt(int row) const;
    QString idAt(int row) const;
    // -1 when no row has the id.
    int rowOf(const QString& id) const;

    // What the running job on session id is doing, shown in place of its stored state (with
    // detail as the cell's tooltip); an empty state shows the stored one again. Kept across
    // reloads, so a session listed after its job began shows it too.
    void setLiveState(const QString& id, const QString& state, const QString& detail = {});
    QString liveState(const QString& id) const { return live_.value(id).state; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    // "5 May 2024 14:03" style, in the user's time zone and locale.
    static QString formatLocalTime(int64_t unixMs);

private:
    struct LiveState {
        QString state;
        QString detail;
    };

    std::vector<strata::SessionInfo> sessions_;
    QHash<QString, LiveState> live_;  // by session id
};

}  // namespace strata::ui
