package api

import "github.com/heckhq/heck/internal/wire"

// The API's wire types live in package wire, which clients import; these
// names let the server's code read as before.
type (
	TargetStatus    = wire.TargetStatus
	Result          = wire.Result
	TargetList      = wire.TargetList
	TransitionList  = wire.TransitionList
	Member          = wire.Member
	MemberList      = wire.MemberList
	JoinRequest     = wire.JoinRequest
	JoinResponse    = wire.JoinResponse
	LeaveResponse   = wire.LeaveResponse
	KeyList         = wire.KeyList
	KeyRequest      = wire.KeyRequest
	KeyResponse     = wire.KeyResponse
	KeyInfo         = wire.KeyInfo
	Problem         = wire.Problem
	FieldProblem    = wire.FieldProblem
	Scope           = wire.Scope
	Coverage        = wire.Coverage
	HistoryResponse = wire.HistoryResponse
	UptimeResponse  = wire.UptimeResponse
)

// Member states and read scopes (package wire).
const (
	MemberAlive  = wire.MemberAlive
	MemberDead   = wire.MemberDead
	MemberLeft   = wire.MemberLeft
	ScopeCluster = wire.ScopeCluster
	ScopeLocal   = wire.ScopeLocal
)

// StatusOf and ResultFrom build wire values (package wire).
var (
	StatusOf   = wire.StatusOf
	ResultFrom = wire.ResultFrom
)

// Problem types (package wire).
const (
	TypeInvalidJSON     = wire.TypeInvalidJSON
	TypeInvalidTarget   = wire.TypeInvalidTarget
	TypeInvalidQuery    = wire.TypeInvalidQuery
	TypeNotFound        = wire.TypeNotFound
	TypeConflict        = wire.TypeConflict
	TypeUnauthorized    = wire.TypeUnauthorized
	TypeTokenRequired   = wire.TypeTokenRequired
	TypeTooLarge        = wire.TypeTooLarge
	TypeUnsupported     = wire.TypeUnsupported
	TypeNotReady        = wire.TypeNotReady
	TypeInternal        = wire.TypeInternal
	TypeMethodNotAllow  = wire.TypeMethodNotAllow
	TypeInvalidRequest  = wire.TypeInvalidRequest
	TypeNotClustered    = wire.TypeNotClustered
	TypeJoinFailed      = wire.TypeJoinFailed
	TypeNodeLeft        = wire.TypeNodeLeft
	TypeEncryptionOff   = wire.TypeEncryptionOff
	TypeKeyNotInstalled = wire.TypeKeyNotInstalled
	TypeKeyPrimary      = wire.TypeKeyPrimary
	targetNotFoundTitle = wire.TargetNotFoundTitle
	MaxRollupGroups     = wire.MaxRollupGroups
)

// More wire types and helpers.
type RollupsResponse = wire.RollupsResponse

var IsTargetNotFound = wire.IsTargetNotFound
