// Each test class starts its own app on its own database. Most of a test's time is waiting (for a run to end, a
// heartbeat, the database), so four classes at a time keep two cores busy; more only adds contention. The tests wait
// for events, not for times, so a busier machine makes them slower, never wrong.
[assembly: CollectionBehavior(MaxParallelThreads = 4)]
